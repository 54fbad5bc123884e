// `express4` is express@4 installed under an alias; its API is the same as far as these tests go.
declare module 'express4' {
  import express = require('express')
  export = express
}
