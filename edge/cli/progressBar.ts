/** A text progress bar: `[#####·····] 50% label`, `width` cells wide. */
export function progressBar(fraction: number, label: string, width = 24): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'·'.repeat(width - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}% ${label}`;
}
