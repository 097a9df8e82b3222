/**
 * What the dashboard examples do once their server listens: fetch the page and the stats API
 * as an admin (the cookie `authorize` accepts), and once without it. Not part of the package.
 */
export async function checkDashboard(name: string, page: string): Promise<void> {
  const admin = { cookie: 'session=admin' };
  const html = await fetch(page, { headers: admin });
  const title = /<title>([^<]*)<\/title>/.exec(await html.text())?.[1];
  const stats = (await (await fetch(`${page}/api/stats`, { headers: admin })).json()) as { delivered: number };
  const anonymous = await fetch(page);
  await anonymous.body?.cancel();
  console.log(`${name}: page ${html.status} (${title}), api/stats delivered ${stats.delivered}, without the cookie ${anonymous.status}`);
}
