import test from 'ava';
import { currencyExponent } from '../../gateway/dashboard/currency-exponent.js';
import { majorUnits } from '../../gateway/dashboard/dashboard-state.js';

test('ISO 4217 exponents: EUR 2, JPY 0, KWD 3, CLF 4; lower case too; any other code 2', (t) => {
  t.deepEqual(
    ['EUR', 'CHF', 'USD', 'JPY', 'KRW', 'ISK', 'KWD', 'TND', 'CLF', 'jpy', 'XYZ', 'constructor', '__proto__'].map(currencyExponent),
    [2, 2, 2, 0, 0, 0, 3, 3, 4, 0, 2, 2, 2],
  );
});

test('the dashboard shows major units: 1250 EUR cents are 12.5, 500 yen are 500, 1500 fils are 1.5 dinars', (t) => {
  t.is(majorUnits(1250, 'EUR'), 12.5);
  t.is(majorUnits(500, 'JPY'), 500);
  t.is(majorUnits(1500, 'KWD'), 1.5);
});

test('the dashboard asks nothing of ICU for a currency (its data would stay resident in the gateway)', (t) => {
  const original = Intl.NumberFormat;
  let asked = 0;
  // biome-ignore lint/suspicious/noExplicitAny: a spy standing in for the constructor
  (Intl as any).NumberFormat = (...args: unknown[]) => {
    asked++;
    return new (original as unknown as new (...a: unknown[]) => Intl.NumberFormat)(...args);
  };
  try {
    for (const c of ['EUR', 'JPY', 'KWD', 'XYZ']) majorUnits(100, c);
  } finally {
    Intl.NumberFormat = original;
  }
  t.is(asked, 0);
});
