#!/usr/bin/env node
import 'reflect-metadata';
import { main } from '../cli/main.js';

const code = await main(process.argv.slice(2));
process.exit(code !== 0 ? code : Number(process.exitCode ?? 0));
