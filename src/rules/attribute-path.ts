/**
 * Paths into a resource, shared by rule `evidence` and the CEL `attr()` helper:
 * dot-separated keys with `[n]` list indexes, e.g. `attributes.versioning[0].enabled`.
 */
export type PathStep = string | number;

const PATH_PATTERN = /^[A-Za-z0-9_:/-]+(\[\d+\])*(\.[A-Za-z0-9_:/-]+(\[\d+\])*)*$/;

export function isValidPath(path: string): boolean {
  return PATH_PATTERN.test(path);
}

/** The steps of a path; throws on a malformed one. */
export function parsePath(path: string): PathStep[] {
  if (!isValidPath(path)) throw new Error(`malformed path "${path}": expected keys separated by dots, with [n] list indexes`);
  const steps: PathStep[] = [];
  for (const segment of path.split('.')) {
    const [key = '', ...indexes] = segment.split('[');
    steps.push(key, ...indexes.map((index) => Number(index.slice(0, -1))));
  }
  return steps;
}

const KEY_PATTERN = /^[A-Za-z0-9_:/-]+$/;

/**
 * The path of `steps` (`versioning[0].enabled`), the inverse of `parsePath`. A path must start
 * with a key; a key the syntax cannot write (a dot, a space: some map keys) ends it there, so the
 * path names the nearest ancestor it can (`tags` for an unknown `tags["kubernetes.io/role"]`).
 * Null when not even the first step can be written.
 */
export function formatPath(steps: readonly PathStep[]): string | null {
  let path = '';
  for (const step of steps) {
    if (typeof step === 'number') {
      if (path === '' || !Number.isInteger(step) || step < 0) break;
      path += `[${step}]`;
    } else {
      if (!KEY_PATTERN.test(step)) break;
      path += path === '' ? step : `.${step}`;
    }
  }
  return path === '' ? null : path;
}

/** The value at `steps` in `value`, or undefined when any step is missing. */
export function valueAtSteps(value: unknown, steps: readonly PathStep[]): unknown {
  let current = value;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}
