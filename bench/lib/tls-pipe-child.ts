/** The receiving process of the TLS / raw pipe reference (see tls-pipe.ts). Prints one JSON line. */
import { loadOrCreateIdentity } from '../../electron/peer/identity/identity.js';
import { receivePipe, type PipeJob } from './tls-pipe.js';

const job = JSON.parse(process.argv[2]!) as PipeJob;
const identity = job.identityDir ? await loadOrCreateIdentity(job.identityDir) : undefined;
const result = await receivePipe(job, identity);
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
