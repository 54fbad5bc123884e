import express from 'express'
import { sec } from '@sec/express'
import { log, policy, port, ready } from './load-policy.mjs'

const app = express()
app.use(sec({ policy, onDecision: log('express') }))
app.get('/', (req, res) => res.json({ hello: 'express', decision: req.sec.code }))
app.get('/api/orders', (req, res) => res.json({ orders: [], key: req.sec.apiKeyId }))
app.post('/login', (req, res) => res.json({ ok: true }))

const server = app.listen(port(3101), '127.0.0.1', () => ready('express', server.address().port))
