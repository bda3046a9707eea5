/** The household's card in a virtual socket: the sandbox's own set-up helpers (deploy/sandbox/household/socket-card-session.ts). */
export { virtualSocketConfig, withSocketCard } from '../../../deploy/sandbox/household/socket-card-session.js';
