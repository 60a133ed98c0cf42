// The test runner's global setup (node --test --test-global-setup): starts every real server once
// per run and points DATASYNC_TEST_ENDPOINTS at their endpoints, which test processes inherit.
import { rmSync } from 'node:fs';
import { ENDPOINTS_ENV } from './endpoints.ts';
import { startEnvironment, type Environment } from './environment.ts';

let env: Environment | undefined;

function onSignal(signal: NodeJS.Signals): void {
  // Stop the servers before going; the watchdogs would kill them anyway once this process is gone.
  const done = (): never => process.exit(signal === 'SIGINT' ? 130 : 143);
  if (!env) done();
  void env?.stop().then(() => { if (env && !process.env['DATASYNC_KEEP_ENV_DIR']) rmSync(env.runDir, { recursive: true, force: true }); }).finally(done);
  setTimeout(done, 8000).unref();
}

export async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  env = await startEnvironment({ log: (m) => { if (process.env['DATASYNC_ENV_VERBOSE']) process.stderr.write(`test environment: ${m}\n`); } });
  process.env[ENDPOINTS_ENV] = env.endpointsFile;
  process.stderr.write(`test environment: up in ${((Date.now() - t0) / 1000).toFixed(1)}s (logs: ${env.endpoints.logs})\n`);
}

export async function globalTeardown(): Promise<void> {
  if (!env) return;
  const t0 = Date.now();
  await env.stop();
  if (!process.env['DATASYNC_KEEP_ENV_DIR']) rmSync(env.runDir, { recursive: true, force: true });
  process.stderr.write(`test environment: stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
  env = undefined;
}
