/** Path of dist/.built under the repository root `root`. */
export function stampPath(root: string): string;
/** True when dist/ was built after the newest change to src/, the tsconfigs or package-lock.json. */
export function distIsFresh(root: string): boolean;
