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
  /** Longest POLL hold. */
  maxPollMs: 30_000,
} as const;
