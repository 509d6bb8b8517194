"""interaction"""
