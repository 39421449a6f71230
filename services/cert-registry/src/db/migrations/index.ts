// The registry's migrations in order (the outbox table comes from libs/persistence).
import { CreateOutbox1700000000000 } from '@twoway/persistence';
import { CreateCertificates1700000001000 } from './1700000001000-create-certificates.js';
import { ExpiryNotice1700000002000 } from './1700000002000-expiry-notice.js';

export const migrations = [CreateOutbox1700000000000, CreateCertificates1700000001000, ExpiryNotice1700000002000];
