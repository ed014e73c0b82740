#!/usr/bin/env python3
"""Fills translations/papillon_zh_CN.ts with the Chinese texts below (run after lupdate).

Keeps the .ts the single source of truth for lrelease; this table is how we review the wording.
"""
import sys
import xml.etree.ElementTree as ET

ZH = {
    "Save image…": "保存图像…",
    "Save grid…": "保存网格…",
    "Copy seed": "复制种子",
    "Copy parameters": "复制参数",
    "Use these parameters": "使用这些参数",
    "%n image(s)": "%n 张图像",
    "Clear": "清空",
    "Press Generate (Ctrl+Return) and watch every image of the batch take shape here.":
        "按“生成”（Ctrl+Return），在这里看批次中的每张图像逐步成形。",
    "Open a diffusers model folder to begin.": "打开一个 diffusers 模型文件夹即可开始。",
    "Save the grid as PNG": "将网格保存为 PNG",
    "Save the image as PNG": "将图像保存为 PNG",
    "PNG images (*.png)": "PNG 图像 (*.png)",
    "Prompt": "提示词",
    "Describe the image": "描述你想要的图像",
    "Negative prompt": "反向提示词",
    "What the image should not show": "图像中不应出现的内容",
    "This model is unconditional: it takes no prompt.": "这是无条件模型：不需要提示词。",
    "Steps": "步数",
    "Guidance": "引导系数",
    "Seed": "种子",
    "Roll a new seed": "随机换一个种子",
    "New random seed for every run": "每次运行使用新的随机种子",
    "Size": "尺寸",
    "This model makes %1 × %2 images only.": "此模型只能生成 %1 × %2 的图像。",
    "Batch size": "每批数量",
    "Batch count": "批次数",
    "Scheduler": "调度器",
    "Generate": "生成",
    "Queue a job (Ctrl+Return)": "加入一个任务（Ctrl+Return）",
    "Cancel": "取消",
    "Stop the running job and keep its previews (Esc)": "停止当前任务并保留预览（Esc）",
    "Remove %n queued job(s)": "移除 %n 个排队中的任务",
    "Queued": "排队中",
    "Cancelled at %1/%2": "已在 %1/%2 取消",
    "Failed": "失败",
    "%1/%2": "%1/%2",
    "Seed %1": "种子 %1",
    "Papillon — %1": "Papillon — %1",
    "Papillon": "Papillon",
    "Model": "模型",
    "Path of a diffusers model folder": "diffusers 模型文件夹的路径",
    "Open folder…": "打开文件夹…",
    "Recent": "最近使用",
    "%1 · %2 × %3 · %4 M parameters": "%1 · %2 × %3 · %4 M 参数",
    "Could not open the model: %1": "无法打开模型：%1",
    "Open a diffusers model folder": "打开 diffusers 模型文件夹",
    "Step %1/%2": "第 %1/%2 步",
    "%1 it/s": "%1 步/秒",
    "ETA %1": "剩余 %1",
    "%n job(s) queued, all done in %1": "%n 个任务排队中，全部完成还需 %1",
    "Finished %n step(s) at %1 it/s": "已完成 %n 步，速度 %1 步/秒",
    "Generation failed": "生成失败",
    "Cancelled at step %1 of %2": "已在第 %1 步（共 %2 步）取消",
    "Loading %1…": "正在加载 %1…",
    "Ready: %1": "就绪：%1",
    "Could not open the model": "无法打开模型",
    "Open a model folder first.": "请先打开一个模型文件夹。",
    "Starting…": "正在启动…",
    "Cancelling…": "正在取消…",
    "Generating job %1": "正在生成任务 %1",
    "Saved %1": "已保存 %1",
    "Could not save the image": "无法保存图像",
    "Could not save the grid": "无法保存网格",
    "Seed %1 copied": "已复制种子 %1",
    "Parameters copied": "已复制参数",
    "%1 (model default)": "%1（模型默认）",
    "Step %1": "第 %1 步",
}


def main(path):
    tree = ET.parse(path)
    missing = []
    for context in tree.getroot().iter("context"):  # drop texts the sources no longer have
        for message in list(context.findall("message")):
            if message.find("translation").get("type") in ("vanished", "obsolete"):
                context.remove(message)
    for message in tree.getroot().iter("message"):
        source = message.find("source").text
        translation = message.find("translation")
        if source not in ZH:
            missing.append(source)
            continue
        text = ZH[source]
        translation.attrib.pop("type", None)
        if message.get("numerus") == "yes":
            translation.text = None
            for child in list(translation):
                translation.remove(child)
            form = ET.SubElement(translation, "numerusform")
            form.text = text  # Chinese has one plural form
        else:
            translation.text = text
    tree.write(path, encoding="utf-8", xml_declaration=True)
    if missing:
        sys.exit("no translation for: " + "; ".join(missing))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "translations/papillon_zh_CN.ts")
