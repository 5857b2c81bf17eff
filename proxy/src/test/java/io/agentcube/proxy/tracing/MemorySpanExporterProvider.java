package io.agentcube.proxy.tracing;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;

/**
 * {@code otel.traces.exporter=agentcube-test-memory}: the spans of a proxy under test, kept in
 * memory, reached through the SDK's own exporter SPI (the proxy has no test hook for it).
 */
public final class MemorySpanExporterProvider implements ConfigurableSpanExporterProvider {

  public static final String NAME = "agentcube-test-memory";
  /** The exporter of the latest proxy configured with it; tests run one such proxy at a time. */
  public static volatile InMemorySpanExporter latest;

  @Override
  public SpanExporter createExporter(ConfigProperties config) {
    InMemorySpanExporter exporter = InMemorySpanExporter.create();
    latest = exporter;
    return exporter;
  }

  @Override
  public String getName() {
    return NAME;
  }
}
