export { startScheduler, LADDER_TICK_SCHEDULER } from './main.js';
export type { RunningScheduler, SchedulerOptions } from './main.js';
