import { testTranslators } from '../../sync/support/translator.js';
import { schemaOf } from '../support.js';

/** The one table of the resume tests, shared by the test and the child process it kills. */
export const resumeTranslators = testTranslators({ big: { primaryKey: ['id'], columns: ['id', 'payload'] } });
export const resumeSchema = schemaOf([{ name: 'big', primaryKey: ['id'] }]);
