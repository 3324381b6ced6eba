/** Tables of the Genascope example in foreign-key order (parents before children). */
export const GENASCOPE_TABLES = [
  'accounts',
  'users',
  'patients',
  'chat_questions',
  'chat_sessions',
  'chat_answers',
  'invites',
  'appointments',
  'lab_integrations',
  'lab_orders',
  'lab_results',
  'eligibility_results',
  'clinician_availability',
  'recurring_availability',
  'risk_assessments',
  'patient_profiles',
] as const;
export type GenascopeTable = (typeof GENASCOPE_TABLES)[number];

/** JSON columns per table: the app stores them as JSON text and returns them parsed. */
export const JSON_COLUMNS: Readonly<Partial<Record<GenascopeTable, readonly string[]>>> = {
  chat_sessions: ['session_metadata'],
  chat_questions: ['options', 'next_question_logic'],
  chat_answers: ['answer_value'],
  invites: ['session_metadata'],
  lab_integrations: ['settings'],
  lab_orders: ['requisition_details'],
  lab_results: ['result_data'],
  eligibility_results: ['result_data'],
  risk_assessments: ['details'],
  patient_profiles: ['family_history', 'preferences'],
};

/** `YYYY-MM-DD HH:MM:SS` in UTC, the form the app writes DATETIME values in. */
export function sqlDateTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** `YYYY-MM-DD` in UTC. */
export function sqlDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
