/** The icons' 24×24 stroke paths (no Lit here: the embed's launcher shell draws one before Lit loads). */
export const ICON_PATHS = {
  chat: 'M21 11.5a8.5 8.5 0 0 1-12.4 7.6L3 20.5l1.5-5A8.5 8.5 0 1 1 21 11.5z',
  close: 'M6 6l12 12M18 6 6 18',
  back: 'M15 18l-6-6 6-6',
  plus: 'M12 5v14M5 12h14',
  send: 'M21 3 10 14M21 3l-7 18-4-7-7-4z',
  down: 'M12 5v14M5 12l7 7 7-7',
  check: 'M4.5 12.5 9 17 19.5 6.5',
  checks: 'M1.5 12.5 6 17 16.5 6.5M11.5 16l1 1L23 6.5',
  clock: 'M12 7.5V12l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z',
  image: 'M3.5 5h17v14h-17zM3.5 16l5-5 4.5 4.5 3-3 4.5 4.5M15.5 9h.01',
  mic: 'M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21',
  trash: 'M4 7h16M9.5 7V4h5v3M6 7l1 13h10l1-13',
  play: 'M8 5.5v13l10.5-6.5z',
  pause: 'M8.5 5.5v13M15.5 5.5v13',
} as const;
