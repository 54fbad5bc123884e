// `koa2` is koa@2 installed under an alias; its API is the same as far as these tests go.
declare module 'koa2' {
  import Koa = require('koa')
  export = Koa
}
