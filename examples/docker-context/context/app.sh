#!/bin/sh
echo "app from a build context"
