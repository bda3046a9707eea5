/**
 * The card-stack suite over an in-memory link: driver and reference card in
 * this process, the card's state in a real image file.
 */
import test from 'ava';
import { bootMemoryCard } from '../helpers/household/index.js';
import { registerCardStackSuite } from './card-stack-suite.js';

registerCardStackSuite(test, (t) => bootMemoryCard(t));
