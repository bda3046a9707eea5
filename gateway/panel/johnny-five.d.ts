/**
 * The part of johnny-five 2.x (and firmata 2.x) the panel uses, typed here
 * rather than pulling a types package for a handful of classes. Shapes follow
 * johnny-five's lib/board.js, led/led.js, button.js, switch.js and pin.js.
 */
declare module 'johnny-five' {
  import type { EventEmitter } from 'node:events';

  export interface BoardOptions {
    io: EventEmitter;
    id?: string;
    repl?: boolean;
    debug?: boolean;
    sigint?: boolean;
    timeout?: number;
  }
  export class Board extends EventEmitter {
    constructor(options: BoardOptions);
    readonly isReady: boolean;
    readonly io: EventEmitter;
  }
  export interface ComponentOptions {
    pin: number | string;
    board: Board;
  }
  export class Led extends EventEmitter {
    constructor(options: ComponentOptions);
    on(): this;
    off(): this;
    blink(ms?: number): this;
    stop(): this;
    readonly isOn: boolean;
  }
  export class Button extends EventEmitter {
    constructor(options: ComponentOptions & { holdtime?: number; isPullup?: boolean; invert?: boolean });
    readonly isDown: boolean;
  }
  export class Switch extends EventEmitter {
    constructor(options: ComponentOptions & { type?: 'NO' | 'NC' });
    readonly isOpen: boolean;
    readonly isClosed: boolean;
  }
  export class Pin extends EventEmitter {
    constructor(options: ComponentOptions & { type?: 'digital' | 'analog'; mode?: number });
    high(): this;
    low(): this;
    read(cb: (error: Error | null, value: number) => void): void;
  }
  const five: { Board: typeof Board; Led: typeof Led; Button: typeof Button; Switch: typeof Switch; Pin: typeof Pin };
  export default five;
}

declare module 'firmata' {
  import type { EventEmitter } from 'node:events';
  export interface FirmataOptions {
    reportVersionTimeout?: number;
    skipCapabilities?: boolean;
  }
  export class Board extends EventEmitter {
    constructor(transport: EventEmitter & { write(data: Buffer, cb?: () => void): unknown }, options?: FirmataOptions, callback?: (e?: Error) => void);
    readonly isReady: boolean;
    readonly firmware: { name?: string; version?: { major: number; minor: number } };
  }
  const Firmata: typeof Board & { Board: typeof Board };
  export default Firmata;
}
