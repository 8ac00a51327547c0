export { type DemoOptions, type DemoReport, type FormatRow, type QuantizeRow, runDemo } from './demo.js';
export { formatDemoReport } from './format-report.js';
export { main, UsageError, VERSION } from './main.js';
