/** An on/off choice kept in localStorage across visits (for this view only where storage is off). */
export function rememberedChoice(key: string): { get(fallback: boolean): boolean; set(on: boolean): void } {
  return {
    get(fallback) {
      try {
        const value = localStorage.getItem(key);
        return value === null ? fallback : value === 'on';
      } catch {
        return fallback;
      }
    },
    set(on) {
      try {
        localStorage.setItem(key, on ? 'on' : 'off');
      } catch {
        // storage off (private mode): the choice lasts for this view only
      }
    },
  };
}
