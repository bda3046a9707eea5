/**
 * What the home-card driver needs from the layer below: send one command APDU,
 * get its response APDU. The T=1 interface device (t1/t1-interface-device.ts)
 * implements it over a byte link; unit tests may implement it in memory.
 */
export interface ApduTransport {
  /**
   * Send one command APDU (encoded bytes) and resolve with the response APDU
   * (data ‖ SW1 SW2). Rejects with a CardError in the 2xx/3xx bands when the
   * transport fails; never retries the APDU itself (block-level recovery is
   * the T=1 layer's job, and only that).
   */
  transmit(apdu: Buffer): Promise<Buffer>;
}
