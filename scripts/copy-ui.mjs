#!/usr/bin/env node
// `npm run build`: the dashboard's static files (src/admin/ui/public: plain HTML, CSS and browser ES
// modules, no build step of their own) are copied beside the compiled admin API, which serves them
// from dist/admin/ui/public.
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/admin/ui/public', { recursive: true, force: true });
cpSync('src/admin/ui/public', 'dist/admin/ui/public', { recursive: true });
