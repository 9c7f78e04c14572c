/** The launcher's strings in every language: the embed's launcher shell draws it before the locale tables load. */
export const LAUNCHER_STRINGS = {
  en: { openChat: 'Open chat', openChatUnread: 'Open chat, {n} unread' },
  'zh-CN': { openChat: '打开聊天', openChatUnread: '打开聊天，{n} 条未读' },
  ko: { openChat: '채팅 열기', openChatUnread: '채팅 열기, 읽지 않은 메시지 {n}개' },
} satisfies Record<string, { openChat: string; openChatUnread: string }>;
