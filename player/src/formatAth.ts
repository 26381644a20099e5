/** ATH wei as a short decimal string (4 decimals). */
export function formatAth(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = ((wei % 10n ** 18n) * 10_000n) / 10n ** 18n;
  return `${whole}.${frac.toString().padStart(4, '0')}`;
}
