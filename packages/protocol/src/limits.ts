/** Shared limits both sides agree on. The server may be configured lower, never higher. */
export const Limits = {
  /** Longest message text, in UTF-16 code units. */
  maxText: 8000,
  /** Longest clientMsgId, device id or user id. */
  maxId: 64,
  /** Most members in a group conversation. */
  maxMembers: 500,
  /** Longest conversation title. */
  maxTitle: 200,
  /** Default and largest SYNC page. */
  syncPage: 200,
  maxSyncPage: 500,
  /** Default and largest HISTORY page. */
  historyPage: 50,
  maxHistoryPage: 200,
  /** Largest image upload in bytes, and most pixels (width × height) an image may decode to. */
  maxImageBytes: 20 * 1024 * 1024,
  maxImagePixels: 40_000_000,
  /** Default and largest image upload chunk. */
  imageChunk: 512 * 1024,
  maxImageChunk: 4 * 1024 * 1024,
  /** Thumbnails fit in this many pixels on their longer side. */
  thumbSize: 480,
  /** Longest voice note, largest voice file, largest VOICE_PART data. */
  maxVoiceMs: 5 * 60_000,
  maxVoiceBytes: 5 * 1024 * 1024,
  maxVoicePart: 64 * 1024,
  /** Longest file name kept with a media file. */
  maxFileName: 255,
  /** Longest POLL hold. */
  maxPollMs: 30_000,
} as const;
