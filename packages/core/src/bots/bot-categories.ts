import { isbotMatch } from 'isbot'

// Bot detection leans on `isbot` (zero dependencies, runs in any runtime, its pattern list is
// maintained against real traffic and avoids false positives such as "Cubot" phones). isbot
// says *whether*; this table says *what kind*, so a policy can deny crawlers but let `curl`
// through. Needles are lowercase substrings of the user agent; first category wins.
export const BOT_CATEGORIES = {
  ai: [
    'gptbot',
    'chatgpt',
    'oai-searchbot',
    'claudebot',
    'claude-web',
    'anthropic',
    'ccbot',
    'perplexity',
    'bytespider',
    'google-extended',
    'cohere',
    'diffbot',
    'amazonbot',
    'applebot-extended',
    'meta-externalagent',
    'youbot',
    'ai2bot',
    'omgili',
  ],
  search: [
    'googlebot',
    'google-inspectiontool',
    'bingbot',
    'bingpreview',
    'duckduckbot',
    'baiduspider',
    'yandex',
    'applebot',
    'sogou',
    'exabot',
    'seznambot',
    'naver',
    'yeti/',
    'petalbot',
    'qwantify',
    'mojeek',
    'slurp',
  ],
  seo: [
    'ahrefs',
    'semrush',
    'mj12bot',
    'dotbot',
    'rogerbot',
    'screaming frog',
    'serpstat',
    'dataforseo',
    'blexbot',
    'megaindex',
    'seokicks',
    'linkdex',
    'barkrowler',
  ],
  social: [
    'facebookexternalhit',
    'facebookcatalog',
    'twitterbot',
    'slackbot',
    'slack-imgproxy',
    'linkedinbot',
    'discordbot',
    'whatsapp',
    'telegrambot',
    'pinterest',
    'redditbot',
    'skypeuripreview',
    'embedly',
    'quora link preview',
    'vkshare',
    'mastodon',
  ],
  monitor: [
    'uptimerobot',
    'pingdom',
    'statuscake',
    'site24x7',
    'datadog',
    'newrelic',
    'uptime',
    'monitor',
    'healthcheck',
    'nagios',
    'zabbix',
    'checkly',
    'better uptime',
    'hetrixtools',
  ],
  headless: [
    'headlesschrome',
    'phantomjs',
    'puppeteer',
    'playwright',
    'selenium',
    'webdriver',
    'slimerjs',
    'electron',
  ],
  archiver: ['ia_archiver', 'archive.org_bot', 'heritrix', 'wayback'],
  tool: [
    'curl/',
    'wget',
    'python-requests',
    'python-urllib',
    'aiohttp',
    'httpx',
    'go-http-client',
    'java/',
    'okhttp',
    'apache-httpclient',
    'libwww-perl',
    'lwp::',
    'axios',
    'node-fetch',
    'undici',
    'got (',
    'postman',
    'insomnia',
    'httpie',
    'ruby',
    'php/',
    'guzzle',
    'scrapy',
    'powershell',
    'winhttp',
    'restsharp',
    'dart:io',
    'reqwest',
    'rest-client',
    'http.rb',
    'k6/',
    'autocannon',
    'apachebench',
    'wrk',
  ],
} as const satisfies Record<string, readonly string[]>

export type BotCategory = keyof typeof BOT_CATEGORIES | 'other'
export const BOT_CATEGORY_NAMES: readonly BotCategory[] = [
  ...(Object.keys(BOT_CATEGORIES) as (keyof typeof BOT_CATEGORIES)[]),
  'other',
]

const ENTRIES = Object.entries(BOT_CATEGORIES) as [keyof typeof BOT_CATEGORIES, readonly string[]][]

/** The bot category of a user agent, or undefined when it is not a known automated client. */
export function botCategory(userAgent: string): BotCategory | undefined {
  let match: string | null
  try {
    match = isbotMatch(userAgent)
  } catch {
    return undefined
  }
  if (match === null) return undefined
  const lower = userAgent.toLowerCase()
  for (const [category, needles] of ENTRIES) {
    for (const needle of needles) if (lower.includes(needle)) return category
  }
  return 'other'
}

/**
 * Bot classification costs a large regex per call; real traffic repeats a few thousand user
 * agents, so a bounded cache makes the common case a Map lookup. Cleared whole when full: an
 * attacker cycling agents only makes us do the work we would do without a cache.
 */
export function createBotClassifier(maxEntries = 10_000): (ua: string) => BotCategory | undefined {
  const cache = new Map<string, BotCategory | null>()
  return (ua) => {
    const hit = cache.get(ua)
    if (hit !== undefined) return hit ?? undefined
    const category = botCategory(ua)
    if (ua.length <= 512) {
      if (cache.size >= maxEntries) cache.clear()
      cache.set(ua, category ?? null)
    }
    return category
  }
}
