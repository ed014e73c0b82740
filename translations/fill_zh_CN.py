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
    "%1 · %2 × %3 · %4 M parameters · %5 %6": "%1 · %2 × %3 · %4 M 参数 · %5 %6",
    "GPU": "GPU",
    "CPU": "CPU",
    "Run on": "运行于",
    "Automatic (GPU if available)": "自动（有 GPU 时用 GPU）",
    "GPU (CUDA)": "GPU（CUDA）",
    "GPU (CUDA): not available": "GPU（CUDA）：不可用",
    "Precision": "精度",
    "Full (fp32): the same images as diffusers": "完整（fp32）：与 diffusers 的图像相同",
    "Half (bf16 on the CPU, fp16 on a GPU): faster": "半精度（CPU 上 bf16，GPU 上 fp16）：更快",
    "This CPU computes bf16 natively: in half precision a large model such as Stable Diffusion takes about half the time per step (small models gain nothing). Images differ slightly from full precision. Changing either setting reloads the model.":
        "此 CPU 原生支持 bf16：半精度下，Stable Diffusion 这类大模型每步约需一半时间（小模型没有提升）。图像与完整精度略有差别。更改任一设置都会重新加载模型。",
    "This CPU has no native bf16: on the CPU, half precision is slower than full. Changing either setting reloads the model.":
        "此 CPU 不原生支持 bf16：在 CPU 上半精度比完整精度更慢。更改任一设置都会重新加载模型。",
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
    "Training %1 M parameters on %2": "正在训练 %1 M 参数的模型，数据：%2",
    "%n file(s) skipped": "跳过了 %n 个文件",
    "Stopped at step %1: the checkpoint is saved, Resume continues it": "已在第 %1 步停止：检查点已保存，点“继续”可接着训练",
    "Done: %n step(s)": "完成：共 %n 步",
    "Training failed": "训练失败",
    "Choose the training images first.": "请先选择训练图像。",
    "Resuming…": "正在继续…",
    "Preparing the data…": "正在准备数据…",
    "Stopping after this step…": "本步结束后停止…",
    "Could not keep the image in the library": "无法把图像存入图库",
    "There is no finished image to put in a grid.": "没有已完成的图像可以拼成网格。",
    "Cannot create the folder %1": "无法创建文件夹 %1",
    "Saved %n image(s) to %1": "已将 %n 张图像保存到 %1",
    "Could not delete %1": "无法删除 %1",
    "Deleted %n image(s)": "已删除 %n 张图像",
    "Could not read the image": "无法读取该图像",
    "%1 carries no generation parameters": "%1 不含生成参数",
    "Parameters of %1 restored": "已恢复 %1 的参数",
    "Training images": "训练图像",
    "Fashion-MNIST (installed)": "Fashion-MNIST（已安装）",
    "A folder of images": "图像文件夹",
    "Folder of PNG/JPEG images": "PNG/JPEG 图像所在的文件夹",
    "Choose…": "选择…",
    "Install it with: sudo apt install dataset-fashion-mnist": "请先安装：sudo apt install dataset-fashion-mnist",
    "Grayscale": "灰度",
    "Class-conditional (the prompt picks the class)": "按类别条件训练（用提示词选择类别）",
    "Random horizontal flips": "随机水平翻转",
    "Tiny (0.5 M parameters)": "极小（0.5 M 参数）",
    "Small (2 M, CPU-friendly)": "小（2 M，适合 CPU）",
    "Butterflies recipe (114 M, GPU)": "蝴蝶教程配置（114 M，需 GPU）",
    "Resolution": "分辨率",
    "Run": "运行",
    "Learning rate": "学习率",
    "Samples every": "采样间隔",
    "Checkpoint every": "检查点间隔",
    "Output folder": "输出文件夹",
    "A new folder under Documents/Papillon/training": "在 文档/Papillon/training 下新建文件夹",
    "Start": "开始",
    "Resume": "继续",
    "Continue the checkpoint in the output folder": "从输出文件夹中的检查点继续训练",
    "Stop": "停止",
    "Open this model": "打开此模型",
    "Step %1 / %2": "第 %1 / %2 步",
    "Loss %1 (avg %2)": "损失 %1（平均 %2）",
    "%1 steps/s": "%1 步/秒",
    "Samples after step %1 (EMA weights, fixed seed)": "第 %1 步后的采样（EMA 权重，固定种子）",
    "Sample grids appear here as the model trains.": "训练过程中，采样网格会显示在这里。",
    "Choose a folder of training images": "选择训练图像文件夹",
    "Choose the output folder": "选择输出文件夹",
    "Loss": "损失",
    "The loss curve appears here once training starts.": "开始训练后，损失曲线会显示在这里。",
    "Save selected…": "保存所选…",
    "Each selected image as its own PNG in a folder": "将每张所选图像分别保存为文件夹中的 PNG",
    "Delete": "删除",
    "Remove the selected images and their files in the library (Del)": "移除所选图像及其在图库中的文件（Del）",
    "%1 of %n image(s) selected": "已选 %1 张，共 %n 张",
    "Empty the gallery (the library keeps the files)": "清空画廊（图库中的文件保留）",
    "Save the selected images into a folder": "将所选图像保存到文件夹",
    "Save a grid": "保存网格",
    "Columns": "列数",
    "Automatic": "自动",
    "Padding": "间距",
    "Images": "图像",
    "Only the selected images": "仅所选图像",
    "Timeline": "时间线",
    "Add each image's denoising steps": "加入每张图像的去噪步骤",
    "Settings": "设置",
    "Language": "语言",
    "System default": "跟随系统",
    "Theme": "主题",
    "System": "跟随系统",
    "Light": "浅色",
    "Dark": "深色",
    "Image library": "图库",
    "Every finished image is kept here with its parameters and comes back when Papillon starts.": "每张完成的图像都会连同参数保存在这里，Papillon 下次启动时会重新显示。",
    "Full preview every": "完整预览间隔",
    "steps (0: off)": "步（0：关闭）",
    "Latent models (Stable Diffusion) preview each step with a fast colour projection; a full VAE decode shows the exact image but costs about as much as a step.": "潜空间模型（Stable Diffusion）每一步用快速颜色投影预览；完整的 VAE 解码能显示准确图像，但耗时约等于一步。",
    "Choose the image library folder": "选择图库文件夹",
    "Train": "训练",
    "Drop a PNG to reuse its parameters, or a model folder to open it": "拖入 PNG 可复用其参数，拖入模型文件夹可打开它",
    "More actions": "更多操作",
    "Select all": "全选",
    "Reload the library": "重新载入图库",
    "Clear the gallery": "清空画廊",
    "Components: %1": "组件：%1",
    "Eta": "Eta",
    "DDIM's eta: 0 is deterministic, 1 adds fresh noise every step as DDPM does":
        "DDIM 的 eta：0 为确定性采样，1 则像 DDPM 一样每步加入新的噪声",
    "Reset to the model's defaults": "恢复模型的默认值",
    "steps %1": "%1 步",
    "guidance %1": "引导系数 %1",
    "eta %1": "eta %1",
    "Defaults: diffusers' own": "默认值：diffusers 自带",
    "Defaults from the model: %1": "模型的默认值：%1",
    "%1 / %2 tokens": "%1 / %2 个词元",
    "%1 / %2 tokens: the words past %2 are cut off": "%1 / %2 个词元：超出 %2 的部分会被截断",
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
