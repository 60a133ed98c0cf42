// The pod runner as its own process: `node test/env/podrunner/main.ts CONFIG.json`. The environment
// starts it through the process library, so it dies with the test run, and its pods die with it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeClient } from '../kube.ts';
import { PodRunner } from './runner.ts';

export interface RunnerConfig {
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  nodeName: string;
  hostRoot: string;
  apiPort: number;
}

const configFile = process.argv[2];
if (!configFile) {
  process.stderr.write('usage: node test/env/podrunner/main.ts CONFIG.json\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configFile, 'utf8')) as RunnerConfig;
const kube = KubeClient.fromFiles(config.server, config.caFile, config.certFile, config.keyFile);
const repoBin = path.resolve(import.meta.dirname, '../../../node_modules/.bin');
const runner = new PodRunner({
  kube,
  nodeName: config.nodeName,
  hostRoot: config.hostRoot,
  apiPort: config.apiPort,
  caFile: config.caFile,
  path: `${repoBin}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void runner.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await runner.registerNode();
process.stderr.write(`podrunner: node ${config.nodeName} registered; pods under ${config.hostRoot}\n`);
await runner.run();
