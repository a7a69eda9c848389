import { dropServerTemplate, SERVER_TEMPLATE_ENV } from './template';

/** Jest's global teardown: drops the run's template database from the server (the embedded one's file is kept for the next run). */
export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  const template = process.env[SERVER_TEMPLATE_ENV];
  if (serverUrl && template) await dropServerTemplate(serverUrl, template);
}
