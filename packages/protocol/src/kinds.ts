/** Message kinds. */
export const MsgKind = { Text: 1, Image: 2, Voice: 3 } as const;
export type MsgKind = (typeof MsgKind)[keyof typeof MsgKind];

/** Conversation kinds. */
export const ConvKind = { Direct: 1, Group: 2 } as const;
export type ConvKind = (typeof ConvKind)[keyof typeof ConvKind];

/** Receipt kinds. */
export const ReceiptKind = { Delivered: 1, Read: 2 } as const;
export type ReceiptKind = (typeof ReceiptKind)[keyof typeof ReceiptKind];
