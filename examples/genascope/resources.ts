import type { GenascopeTable } from './tables.js';

/** One REST resource of the example API: a table with its writable fields and list filters. */
export interface Resource {
  /** URL segment: `/patients`, `/chat-sessions`... */
  path: string;
  table: GenascopeTable;
  /** Columns a client may set on create/update. */
  fields: readonly string[];
  /** Columns a create must carry. */
  required: readonly string[];
  /** Query parameters accepted by the list route as equality filters. */
  filters: readonly string[];
  /** Sort column of the list route (the key breaks ties). */
  orderBy: string;
  /** Columns never returned (secrets). */
  hidden?: readonly string[];
}

export const RESOURCES: readonly Resource[] = [
  {
    path: 'accounts',
    table: 'accounts',
    fields: ['name', 'domain', 'is_active'],
    required: ['name'],
    filters: ['is_active', 'domain'],
    orderBy: 'name',
  },
  {
    path: 'users',
    table: 'users',
    fields: ['name', 'role', 'email', 'hashed_password', 'account_id', 'is_active', 'clinician_id'],
    required: ['name', 'email'],
    filters: ['account_id', 'role', 'clinician_id', 'is_active'],
    orderBy: 'email',
    hidden: ['hashed_password'],
  },
  {
    path: 'patients',
    table: 'patients',
    fields: [
      'user_id',
      'email',
      'first_name',
      'last_name',
      'phone',
      'external_id',
      'date_of_birth',
      'notes',
      'status',
      'clinician_id',
      'account_id',
    ],
    required: ['first_name', 'last_name'],
    filters: ['clinician_id', 'account_id', 'status', 'user_id'],
    orderBy: 'last_name',
  },
  {
    path: 'chat-questions',
    table: 'chat_questions',
    fields: [
      'sequence',
      'text',
      'description',
      'answer_type',
      'options',
      'required',
      'category',
      'next_question_logic',
    ],
    required: ['sequence', 'text'],
    filters: ['category', 'required'],
    orderBy: 'sequence',
  },
  {
    path: 'chat-sessions',
    table: 'chat_sessions',
    fields: [
      'user_id',
      'patient_id',
      'clinician_id',
      'session_type',
      'status',
      'session_metadata',
      'completed_at',
    ],
    required: ['patient_id'],
    filters: ['patient_id', 'clinician_id', 'user_id', 'status'],
    orderBy: 'created_at',
  },
  {
    path: 'chat-answers',
    table: 'chat_answers',
    fields: ['session_id', 'question_id', 'answer_text', 'answer_value'],
    required: ['session_id', 'question_id'],
    filters: ['session_id', 'question_id'],
    orderBy: 'created_at',
  },
  {
    path: 'appointments',
    table: 'appointments',
    fields: [
      'patient_id',
      'clinician_id',
      'date_time',
      'date',
      'time',
      'appointment_type',
      'status',
      'notes',
      'confirmation_code',
    ],
    required: ['patient_id', 'clinician_id', 'date_time', 'date', 'time'],
    filters: ['patient_id', 'clinician_id', 'status', 'date', 'appointment_type'],
    orderBy: 'date_time',
  },
  {
    path: 'lab-orders',
    table: 'lab_orders',
    fields: [
      'patient_id',
      'clinician_id',
      'lab_id',
      'external_order_id',
      'order_number',
      'test_type',
      'status',
      'requisition_details',
      'notes',
      'collection_date',
      'completed_date',
    ],
    required: ['patient_id', 'clinician_id', 'order_number', 'test_type'],
    filters: ['patient_id', 'clinician_id', 'status', 'lab_id'],
    orderBy: 'created_at',
  },
  {
    path: 'lab-results',
    table: 'lab_results',
    fields: [
      'order_id',
      'result_status',
      'result_data',
      'report_url',
      'summary',
      'abnormal',
      'reviewed',
      'reviewed_by',
      'reviewed_at',
    ],
    required: ['order_id'],
    filters: ['order_id', 'abnormal', 'reviewed'],
    orderBy: 'created_at',
  },
];
