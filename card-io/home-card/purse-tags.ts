/**
 * The purse's data-object tags (PROTOCOL.md, "Purse"), shared by the card
 * (the emulator) and the driver so that both read the one table.
 */
export const PurseTag = {
  SignedRecord: 0xe1,
  LoadReceipt: 0xe2,
  /** SIGN CANCEL REQUEST: the card's signed request to a market to cancel one of its decisions. */
  CancelRequest: 0xe3,
  Balance: 0xdf41,
  Seq: 0xdf50,
  Market: 0xdf51,
  OrderId: 0xdf52,
  Amount: 0xdf53,
  Currency: 0xdf54,
  Time: 0xdf55,
  Status: 0xdf56,
  CardId: 0xdf57,
  /** PAY: the amount the terminal showed and the person agreed to; must equal DF53. */
  AgreedAmount: 0xdf58,
  Signature: 0xdf5e,
  CancelAuthorization: 0xdf60,
  AuthorizationSignature: 0xdf61,
  MarketCertificate: 0xdf62,
  LoadAuthorization: 0xdf70,
  Challenge: 0xdf71,
} as const;
