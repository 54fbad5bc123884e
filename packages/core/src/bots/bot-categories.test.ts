import { describe, expect, it } from 'vitest'
import { botCategory, createBotClassifier } from './bot-categories.js'

describe('botCategory', () => {
  it('classifies well-known automated clients', () => {
    expect(
      botCategory('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
    ).toBe('search')
    expect(
      botCategory(
        'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
      ),
    ).toBe('ai')
    expect(botCategory('curl/8.4.0')).toBe('tool')
    expect(botCategory('python-requests/2.31.0')).toBe('tool')
    expect(botCategory('Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)')).toBe(
      'seo',
    )
    expect(botCategory('facebookexternalhit/1.1')).toBe('social')
    expect(
      botCategory('Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)'),
    ).toBe('monitor')
    expect(
      botCategory(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
      ),
    ).toBe('headless')
  })
  it('has no false positive on browsers and on device names that contain "bot"', () => {
    expect(
      botCategory(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      ),
    ).toBeUndefined()
    expect(
      botCategory(
        'Mozilla/5.0 (Linux; Android 10; Cubot Note 20) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
      ),
    ).toBeUndefined()
    expect(
      botCategory(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      ),
    ).toBeUndefined()
  })
  it('caches without changing answers', () => {
    const classify = createBotClassifier(2)
    for (let i = 0; i < 5; i++) {
      expect(classify('curl/8.4.0')).toBe('tool')
      expect(classify('Mozilla/5.0 (Windows NT 10.0) Firefox/120.0')).toBeUndefined()
      expect(classify(`Googlebot/${i}`)).toBe('search')
    }
  })
})
