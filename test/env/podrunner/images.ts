// The one table from container image to local command. Pods in the test cluster do not run in
// containers: the pod runner looks the image up here and runs the matching command on this host.
//
// An image has an entrypoint (used when the container sets no `command`) and a table of the
// commands that exist "inside" it: the first word of the container's command line must be one of
// them, and is replaced by the host command line. Anything else fails the pod, naming the field.
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../../..');
const NODE = process.execPath;

export interface LocalImage {
  /** What the image stands for, for messages. */
  description: string;
  /** The image's ENTRYPOINT and CMD, as in the Dockerfile. */
  entrypoint: string[];
  cmd: string[];
  /** Command name inside the image → host command line. */
  commands: Record<string, string[]>;
}

const copier = [NODE, path.join(REPO, 'copier/cli.ts')];
const operator = [NODE, path.join(REPO, 'operator/main.ts')];

/** The project's image (Dockerfile at the repo root): `datasync` and `datasync-operator`. */
export const PROJECT_IMAGE: LocalImage = {
  description: 'the DataSync image (copier and operator from this checkout)',
  entrypoint: ['datasync'],
  cmd: ['--help'],
  commands: {
    'datasync': copier,
    '/usr/local/bin/datasync': copier,
    '/app/bin/datasync.js': copier,
    'datasync-operator': operator,
    '/usr/local/bin/datasync-operator': operator,
    '/app/bin/datasync-operator.js': operator,
    'node': [NODE],
  },
};

/** The environment's own test image: a POSIX shell. */
export const TEST_SHELL_IMAGE_NAME = 'datasync.dev/test-shell:1';
export const TEST_SHELL_IMAGE: LocalImage = {
  description: 'the test shell image (/bin/sh on the host)',
  entrypoint: ['/bin/sh'],
  cmd: [],
  commands: { 'sh': ['/bin/sh'], '/bin/sh': ['/bin/sh'], 'node': [NODE] },
};

/** The repository part of an image reference: no tag, no digest. */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const lastColon = noDigest.lastIndexOf(':');
  return lastColon > lastSlash ? noDigest.slice(0, lastColon) : noDigest;
}

export function resolveImage(image: string): LocalImage | undefined {
  const repo = imageRepository(image);
  // ghcr.io/datasync-dev/datasync, datasync, localhost/datasync, ...
  if (repo === 'datasync' || repo.endsWith('/datasync')) return PROJECT_IMAGE;
  if (repo === imageRepository(TEST_SHELL_IMAGE_NAME)) return TEST_SHELL_IMAGE;
  return undefined;
}

export const KNOWN_IMAGES = ['<any registry>/datasync[:tag] (e.g. ghcr.io/datasync-dev/datasync:0.1.0)', TEST_SHELL_IMAGE_NAME];
