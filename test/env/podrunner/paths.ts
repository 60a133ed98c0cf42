// Where the pod runner puts things on the host. Processes are not containerised, so a container
// path such as /data/x is found at <podRoot>/data/x: each volumeMount is a symlink at
// <podRoot>/<mountPath> to the volume's host directory, and the process gets
// DATASYNC_PATH_PREFIX=<podRoot> (see copier/runtime/container-path.ts).
//
//   <hostRoot>/pods/<namespace>/<pod>-<uid8>/          the pod root (DATASYNC_PATH_PREFIX, default cwd)
//   <hostRoot>/pods/<namespace>/<pod>-<uid8>/.volumes/<volume>/   emptyDir, secret, configMap, projected, downwardAPI
//   <hostRoot>/pvc/<namespace>/<claimName>/           a PersistentVolumeClaim (kept after the pod, like a PV)
//   <hostRoot>/logs/<namespace>_<pod>_<uid8>.log      the container's stdout and stderr
//   hostPath volumes                                  the host path itself
import path from 'node:path';

export const PATH_PREFIX_ENV = 'DATASYNC_PATH_PREFIX';

export function podRoot(hostRoot: string, namespace: string, name: string, uid: string): string {
  return path.join(hostRoot, 'pods', namespace, `${name}-${uid.slice(0, 8)}`);
}

export function volumeDir(root: string, volume: string): string {
  return path.join(root, '.volumes', volume);
}

export function pvcDir(hostRoot: string, namespace: string, claimName: string): string {
  return path.join(hostRoot, 'pvc', namespace, claimName);
}

export function podLogFile(hostRoot: string, namespace: string, name: string, uid: string): string {
  return path.join(hostRoot, 'logs', `${namespace}_${name}_${uid.slice(0, 8)}.log`);
}

/** The host path of an absolute container path inside a pod root. */
export function hostPathOf(root: string, containerPath: string): string {
  if (!path.isAbsolute(containerPath)) throw new Error(`container path ${JSON.stringify(containerPath)} is not absolute`);
  return path.join(root, path.normalize(containerPath));
}
