/** Why `path` cannot be written into a unit file as a plain word (absolute, no blanks, quotes or backslashes). */
export function unitPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `${path} is not an absolute path`;
  if (/[\s"'\\]/.test(path)) return `${path} holds a blank, quote or backslash; move it to a plain path`;
  return undefined;
}
