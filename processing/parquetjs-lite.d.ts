/** The part of parquetjs-lite (untyped CommonJS) that capline uses. */
declare module "parquetjs-lite" {
  import type { Writable } from "node:stream";

  export interface ParquetFieldSpec {
    type: string;
    optional?: boolean;
    compression?: "UNCOMPRESSED" | "GZIP" | "SNAPPY" | "BROTLI";
  }

  export class ParquetSchema {
    constructor(fields: Record<string, ParquetFieldSpec>);
  }

  export interface ParquetWriterOptions {
    rowGroupSize?: number;
    pageSize?: number;
    useDataPageV2?: boolean;
  }

  export class ParquetWriter {
    static openStream(
      schema: ParquetSchema,
      stream: Writable,
      opts?: ParquetWriterOptions,
    ): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    setMetadata(key: string, value: string): void;
    close(): Promise<void>;
  }

  export class ParquetReader {
    static openBuffer(buffer: Buffer, options?: { rawStatistics?: boolean }): Promise<ParquetReader>;
    getCursor(): { next(): Promise<Record<string, unknown> | null> };
    getRowCount(): number;
    close(): Promise<void>;
  }

  /** Node's ESM loader sees only the CommonJS default export of this package. */
  const parquet: {
    ParquetSchema: typeof ParquetSchema;
    ParquetWriter: typeof ParquetWriter;
    ParquetReader: typeof ParquetReader;
  };
  export default parquet;
}
