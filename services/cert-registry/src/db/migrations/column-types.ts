// Column types that differ between the two databases the migrations run on.
import type { QueryRunner } from 'typeorm';

export function columnTypes(q: QueryRunner): { ts: string; uuid: { type: string; length?: string } } {
  const pg = q.connection.options.type === 'postgres';
  return { ts: pg ? 'timestamptz' : 'datetime', uuid: pg ? { type: 'uuid' } : { type: 'varchar', length: '36' } };
}
