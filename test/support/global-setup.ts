import { createServerTemplate, EMBEDDED_TEMPLATE_ENV, embeddedTemplateFile, SERVER_TEMPLATE_ENV } from './template';

/** Jest's global setup: the template every test database of this run copies (see ./template.ts). */
export default async function globalSetup(): Promise<void> {
  // Workers start after this, with this process's environment.
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) process.env[SERVER_TEMPLATE_ENV] = await createServerTemplate(serverUrl);
  else process.env[EMBEDDED_TEMPLATE_ENV] = await embeddedTemplateFile();
}
