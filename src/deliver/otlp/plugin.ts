// OTLP/HTTP: configuration of the sink (config.ts resolves the target the OTel way, data.ts
// builds the data, sink.ts sends). The OpenTelemetry libraries load only when the sink is built.
import { SinkPlugin } from '../plugin';
import { DeliverySettings, deliverySchema, resolveDelivery } from '../delivery';
import { OtlpKeys, resolveOtlpConfig } from './config';
import { OtlpConfig } from './settings';


export type { OtlpConfig };

export const otlp: SinkPlugin<OtlpConfig> = {
  name: 'otlp',
  config: {
    path: 'sinks.otlp',
    schema: {
      enabled: { doc: 'Export over OTLP/HTTP.', format: Boolean, default: false, env: 'SOCKPULSE_OTLP_ENABLED' },
      endpoint: {
        doc: 'Metrics URL; empty means OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else http://localhost:4318/v1/metrics.',
        format: String,
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
        redact: 'url',
      },
      protocol: {
        doc: 'http/protobuf or http/json; empty means OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.',
        format: ['', 'http/protobuf', 'http/json'],
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
      },
      headers: {
        doc: 'Extra request headers as k=v,k2=v2 (for example an API key); empty means OTEL_EXPORTER_OTLP_HEADERS. Never logged or printed.',
        format: String,
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
        sensitive: true,
      },
      timeout: {
        doc: 'Timeout of one export in seconds; 0 means OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT (both ms), else 10.',
        format: 'non-negative-number',
        default: 0,
        env: 'SOCKPULSE_OTLP_TIMEOUT',
      },
      ...deliverySchema('SOCKPULSE_OTLP'),
    },
    resolve(raw, env) {
      const r = raw as unknown as OtlpKeys & DeliverySettings;
      return { target: resolveOtlpConfig(r, env), delivery: resolveDelivery(r) };
    },
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OtlpSink } = require('./sink') as typeof import('./sink');
    return new OtlpSink(cfg, ctx);
  },
};
