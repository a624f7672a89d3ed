import { definePackageTestConfig } from '@guilomo/vitest-preset';
import { defineConfig } from 'vitest/config';

export default defineConfig(definePackageTestConfig());
