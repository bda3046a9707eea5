/** The reference home card: applet logic and its persistent image. */
export { createHomeCardApplet, type HomeCardApplet, type HomeCardAppletOptions } from './applet.js';
export { createCardImage, loadCardImage, type CardImage, type CreateCardImageOptions, type CreatedCardImage } from './card-image.js';
export { createMemoryCardStore, type CardStore, type MemoryCardStore } from './card-store.js';
export {
  APPLET_VERSION,
  DEFAULT_TRIES,
  factoryFreshState,
  HOME_CARD_AID,
  LifeCycle,
  type CardState,
} from './card-state.js';
export { RejectReason } from './certificate-chain.js';
export { EMPTY_PURSE, RecordStatus, type PurseRecord, type PurseState } from './purse-state.js';
export { Tag } from './data-commands.js';
export { adminCryptogram } from './admin-auth.js';
