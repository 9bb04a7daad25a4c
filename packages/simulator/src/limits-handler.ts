import type { ServerResponse } from 'node:http';
import { sendApiJson } from './api-response.js';
import type { SimulatorContext } from './simulator-context.js';

/** Limits other than the API allocation never change here; values from the limits fixture. */
const fixedLimits: Record<string, { Max: number; Remaining: number }> = {
  ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
  ConcurrentSyncReportRuns: { Max: 20, Remaining: 20 },
  DailyAsyncApexExecutions: { Max: 250000, Remaining: 250000 },
  DailyBulkApiRequests: { Max: 5000, Remaining: 5000 },
  DailyDurableGenericStreamingApiEvents: { Max: 10000, Remaining: 10000 },
  DailyDurableStreamingApiEvents: { Max: 10000, Remaining: 10000 },
  DailyGenericStreamingApiEvents: { Max: 10000, Remaining: 10000 },
  DailyStreamingApiEvents: { Max: 10000, Remaining: 10000 },
  DailyWorkflowEmails: { Max: 390, Remaining: 390 },
  DataStorageMB: { Max: 5, Remaining: 5 },
  DurableStreamingApiConcurrentClients: { Max: 20, Remaining: 20 },
  FileStorageMB: { Max: 20, Remaining: 20 },
  HourlyAsyncReportRuns: { Max: 1200, Remaining: 1200 },
  HourlyDashboardRefreshes: { Max: 200, Remaining: 200 },
  HourlyDashboardResults: { Max: 5000, Remaining: 5000 },
  HourlyDashboardStatuses: { Max: 999999999, Remaining: 999999999 },
  HourlyODataCallout: { Max: 10000, Remaining: 10000 },
  HourlySyncReportRuns: { Max: 500, Remaining: 500 },
  HourlyTimeBasedWorkflow: { Max: 50, Remaining: 50 },
  MassEmail: { Max: 10, Remaining: 10 },
  SingleEmail: { Max: 15, Remaining: 15 },
  StreamingApiConcurrentClients: { Max: 20, Remaining: 20 },
};

/** `GET /services/data/vXX.X/limits`; the call itself has already been counted. */
export function handleLimits(ctx: SimulatorContext, res: ServerResponse): void {
  const { used, max } = ctx.daily.usage(Date.now());
  const limits = {
    ...fixedLimits,
    DailyApiRequests: { Max: max, Remaining: Math.max(0, max - used) },
  };
  const sorted = Object.fromEntries(Object.entries(limits).sort(([a], [b]) => (a < b ? -1 : 1)));
  sendApiJson(ctx, res, 200, JSON.stringify(sorted));
}
