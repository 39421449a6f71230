// The registry's migrations in order (the outbox table comes from libs/persistence).
import { CreateOutbox1700000000000 } from '@twoway/persistence';
import { CreateCertificates1700000001000 } from './1700000001000-create-certificates.js';
import { CreateRevocation1700000002000 } from './1700000002000-create-revocation.js';
import { ExpiryNotice1700000003000 } from './1700000003000-expiry-notice.js';

export const migrations = [CreateOutbox1700000000000, CreateCertificates1700000001000, CreateRevocation1700000002000, ExpiryNotice1700000003000];
