/** Output of `homegate card info`: aligned text for people, stable JSON for scripts. */
import type { CardInfo } from '../../card-io/home-card/home-card.js';

export function cardInfoJson(info: CardInfo): Record<string, unknown> {
  return {
    cardId: info.cardId,
    version: info.version,
    lifeCycle: info.lifeCycle,
    certificateSubject: info.certificateSubject ?? null,
    retryCounters: info.retryCounters,
  };
}

export function formatCardInfo(info: CardInfo, json: boolean): string {
  if (json) return JSON.stringify(cardInfoJson(info)) + '\n';
  const c = info.retryCounters;
  const tries = (x: { left: number; max: number }) => `${x.left}/${x.max}${x.left === 0 ? ' (blocked)' : ''}`;
  return [
    `card id      ${info.cardId}`,
    `applet       ${info.version}`,
    `life cycle   ${info.lifeCycle}`,
    `certificate  ${info.certificateSubject ?? '(none)'}`,
    `PIN1 tries   ${tries(c.pin1)}`,
    `PIN2 tries   ${tries(c.pin2)}`,
    `PUK tries    ${tries(c.puk)}`,
    `admin tries  ${tries(c.admin)}`,
    '',
  ].join('\n');
}
