#!/usr/bin/env node
// The installed entry point runs compiled JavaScript only: nothing compiles TypeScript on a device.
import '../dist/gateway/cli/main.js';
