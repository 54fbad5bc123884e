// The suite runs Express 4 and Koa 2 beside the current majors, installed under alias names.
declare module 'express4' {
  import express from 'express'
  export default express
}
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
