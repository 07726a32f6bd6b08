import { z } from 'zod';

/** The one error shape of every API route. Clients match on `code`. */
export const errorSchema = z
  .object({
    statusCode: z.number().int(),
    code: z.string().describe('Stable error code, e.g. CAMRELAY_ERR_VALIDATION.'),
    error: z.string().describe('HTTP reason phrase.'),
    message: z.string(),
    fields: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('For validation errors: each offending field, e.g. body.url.'),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.output<typeof errorSchema>;
